#!/bin/sh
# One login role and one database per Chorus service, as on a production server (each service
# reaches only its own data). The postgres image runs this once, on the first start with an
# empty data volume (/docker-entrypoint-initdb.d). docker-compose.yml sets:
#   SERVICE_DATABASES          the services with a database, space-separated
#   SERVICE_DATABASE_PASSWORD  the password of every service role (a development stack)
# Role and database are both chorus_<service>: the services' default CHORUS_DATABASE_NAME, and
# the user of their CHORUS_DATABASE_URL. `migrate` then finds its database and applies the
# migrations as its owner (pg_trgm and unaccent are trusted extensions an owner may create).
set -eu

for service in $SERVICE_DATABASES; do
  name="chorus_$service"
  echo "init-databases: role and database $name"
  psql --no-psqlrc -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v name="$name" -v password="$SERVICE_DATABASE_PASSWORD" <<'SQL'
CREATE ROLE :"name" LOGIN PASSWORD :'password';
CREATE DATABASE :"name" OWNER :"name";
REVOKE ALL ON DATABASE :"name" FROM PUBLIC;
SQL
done

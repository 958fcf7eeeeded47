"""Demo directory data, loaded by ``chorus-structures seed-demo``."""

-- Issue 11 (Chorus Pro-compatible API): staged attachments get an integer id too, the
-- ``pieceJointeId`` that ``transverses/v1/ajouter/fichier`` answers and ``soumettre`` names;
-- deposits and completions accept it (as a decimal string) wherever they take a staged id.
CREATE SEQUENCE staged_attachments_cpp_id_seq;
ALTER TABLE staged_attachments
    ADD COLUMN cpp_id bigint NOT NULL DEFAULT nextval('staged_attachments_cpp_id_seq');
ALTER SEQUENCE staged_attachments_cpp_id_seq OWNED BY staged_attachments.cpp_id;
CREATE UNIQUE INDEX staged_attachments_cpp_id ON staged_attachments (cpp_id);

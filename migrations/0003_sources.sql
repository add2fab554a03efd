-- Whose a record is: a name *and* the source of that name (`local`, `ldap`, `upstream:ID`).
-- Records written before carry '': they belong to the first source whose user signs in with
-- them, which then claims them (`Storage::claim`).
ALTER TABLE factors ADD COLUMN source TEXT NOT NULL DEFAULT '';
ALTER TABLE recovery_codes ADD COLUMN source TEXT NOT NULL DEFAULT '';
ALTER TABLE app_passwords ADD COLUMN source TEXT NOT NULL DEFAULT '';

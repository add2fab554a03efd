-- Passkeys that sign a person in without a password: created as discoverable credentials and
-- found by their credential id (base64url). Passkeys made before stay second factors (NULL).
ALTER TABLE factors ADD COLUMN credential_id TEXT;
CREATE UNIQUE INDEX factors_by_credential ON factors (credential_id);

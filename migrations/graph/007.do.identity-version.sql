-- Screen identity is versioned (services/graph/src/identity/layout-hash.ts IDENTITY_VERSION): each
-- screen records the version of the rules that made its layout hash, so a graph made by an older
-- version is known and rebuilt from the event log (the graph service does it on start). The rows
-- there are now were made by version 1. Null: a layout hash an agent gave, which no rule made.
ALTER TABLE screens ADD COLUMN identity_version smallint DEFAULT 1 CHECK (identity_version >= 1);
ALTER TABLE screens ALTER COLUMN identity_version DROP DEFAULT;
COMMENT ON COLUMN screens.identity_version IS
  'Version of the identity rules that made layout_hash; null when the agent gave the hash';

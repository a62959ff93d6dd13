import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { IdentityRulesSchema } from '@screengraph/shared/api/graph';
import { IDENTITY_VERSION } from '../identity/layout-hash.js';

/** The screen identity rules this service hashes with, for an agent that computes layout hashes itself. */
const identityRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/identity', { schema: { response: { 200: IdentityRulesSchema } } }, async () => ({
    version: IDENTITY_VERSION,
    layoutHash:
      'the first 32 hex digits of sha256(activity + "\\n" + structure of the root), the structure as the rules say; ' +
      'or send the hierarchy (screen.observed hierarchyXml, or POST /apps/:appPackage/screens/identify) and let the service hash it',
    rules: [
      'a node is its kind: class#resource-id#flags, the flags c (clickable), l (long-clickable), s (scrollable, not for a collection), k (checkable), e (editable); no text, description, bounds, focus or selection',
      'a node that is not a collection: kind(children, comma-separated, runs of identical ones as one)',
      'a collection (scrollable, or a ListView, RecyclerView, GridView, ScrollView or ViewPager): kind[row kinds, sorted, comma-separated]',
      'a row kind: the row’s kind{the kinds of every node inside such rows, as a sorted set}, united over the rows shown; rows reaching the collection’s edge along its scroll axis count only when no full row of their kind is shown',
      'invisible nodes, the system UI (com.android.systemui) and the content of another app’s WebView are left out',
    ],
    documentation: 'README.md, section "Screen identity (graph service)"',
  }));
};

export default identityRoutes;

/**
 * The environment for a process a test starts (a service's server, a command). The test runner
 * follows child processes and collects their coverage too; a child that loads the sources through
 * another loader (tsx) reports other offsets for the same files, and merged with the tests' own
 * coverage it blurs their figures (seen: a fully tested file reported at 60 %). So the child's
 * coverage is left out.
 */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, _TAPJS_PROCESSINFO_COVERAGE_: '0', ...extra };
}

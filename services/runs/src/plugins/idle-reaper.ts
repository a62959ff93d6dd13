import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

export interface IdleReaperOptions {
  idleTimeoutMs: number;
  /** How often to look for idle runs. */
  intervalMs: number;
}

/** Fails running runs whose worker went silent (no append, no heartbeat) past the idle timeout. */
export default fp(
  async (app: FastifyInstance, options: IdleReaperOptions) => {
    let sweeping: Promise<void> | undefined;
    const sweep = async () => {
      try {
        const expired = await app.runsRepository.expireIdle(options.idleTimeoutMs);
        if (expired.length > 0) app.log.warn({ runIds: expired }, 'failed idle runs: worker_lost');
      } catch (error) {
        app.log.error({ err: error }, 'idle run sweep failed; retrying at the next interval');
      }
    };
    const timer = setInterval(() => {
      sweeping ??= sweep().finally(() => {
        sweeping = undefined;
      });
    }, options.intervalMs);
    timer.unref();
    app.addHook('onClose', async () => {
      clearInterval(timer);
      await sweeping;
    });
  },
  { name: 'idle-reaper', dependencies: ['runs-repository'] },
);

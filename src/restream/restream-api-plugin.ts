import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { AccessControl } from '../contracts/access.ts';
import { restreamUrlPattern } from '../contracts/restream.ts';
import { createError } from '../errors/errors.ts';
import { httpErrorHandler } from '../errors/http-error-handler.ts';
import { credentialOf } from '../util/credential.ts';
import type { Restreamer } from './restreamer.ts';

export interface RestreamApiPluginOptions {
  readonly restreamer: Restreamer;
  /** Who may read and change targets: the admin token, else loopback (README "Security"). */
  readonly access: AccessControl;
}

const streamParams = {
  type: 'object',
  properties: { stream: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } },
  required: ['stream'],
} as const;

const targetParams = {
  type: 'object',
  properties: { ...streamParams.properties, id: { type: 'string', pattern: '^[A-Za-z0-9-]{1,64}$' } },
  required: ['stream', 'id'],
} as const;

const addBody = {
  type: 'object',
  properties: {
    url: { type: 'string', pattern: restreamUrlPattern, maxLength: 2048 },
    name: { type: 'string', minLength: 1, maxLength: 64 },
  },
  required: ['url'],
  additionalProperties: false,
} as const;

/**
 * `GET /api/streams/:stream/restream` lists a stream's push targets (live or not);
 * `POST /api/streams/:stream/restream` `{"url": "rtmp://…", "name"?: "…"}` adds one (201, the
 * target), `DELETE /api/streams/:stream/restream/:id` removes one (204). Adding and removing are
 * accepted from loopback only (403 `DR_ERR_API_LOOPBACK_ONLY`): a URL given here makes the server
 * push the stream anywhere, which only the machine's owner may ask for.
 */
export const restreamApiPlugin: FastifyPluginAsync<RestreamApiPluginOptions> = async (app, opts) => {
  app.setErrorHandler(httpErrorHandler);
  const { restreamer } = opts;
  /** Targets are URLs with stream keys (masked, still telling): reads too need the admin. */
  const requireAdmin = (req: FastifyRequest): void => {
    const what = `${req.method} ${req.url.split('?')[0]}`;
    opts.access.requireAdmin(what, req.ip, credentialOf(undefined, req.headers));
  };
  app.addHook('onSend', async (_req, reply) => {
    reply.header('Cache-Control', 'no-store');
  });

  app.get<{ Params: { stream: string } }>(
    '/api/streams/:stream/restream',
    { schema: { params: streamParams } },
    async (req) => {
      requireAdmin(req);
      return { targets: restreamer.list(req.params.stream) };
    },
  );

  app.post<{ Params: { stream: string }; Body: { url: string; name?: string } }>(
    '/api/streams/:stream/restream',
    { schema: { params: streamParams, body: addBody } },
    async (req, reply) => {
      requireAdmin(req);
      const info = restreamer.add({ stream: req.params.stream, ...req.body }, 'api');
      return reply.code(201).send(info);
    },
  );

  app.delete<{ Params: { stream: string; id: string } }>(
    '/api/streams/:stream/restream/:id',
    { schema: { params: targetParams } },
    async (req, reply) => {
      requireAdmin(req);
      if (!(await restreamer.remove(req.params.stream, req.params.id))) {
        throw createError('DR_ERR_RESTREAM_NOT_FOUND', req.params.stream, req.params.id);
      }
      return reply.code(204).send();
    },
  );
};

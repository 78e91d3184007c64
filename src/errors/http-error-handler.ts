import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { createError, DashrelayError, toDashrelayError } from './errors.ts';

/**
 * The one place HTTP errors get their body: `{"code": "DR_ERR_…", "message": "…"}` with the
 * catalogue's status (docs/errors.md). Routes throw catalogue errors; fastify's schema validation
 * failures become `DR_ERR_API_BAD_REQUEST`; anything else is logged and answered as
 * `DR_ERR_SERVER_INTERNAL` without its details.
 */
export function httpErrorHandler(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  let e: DashrelayError;
  if (err.validation) {
    e = createError(
      'DR_ERR_API_BAD_REQUEST',
      `${err.validationContext ?? 'request'}${err.message.replace(/^\w+/, '')}`,
    );
  } else if (err instanceof DashrelayError) {
    e = err;
  } else if (err.statusCode === 404) {
    // A static file that is not there (the pages' file server).
    e = createError('DR_ERR_ROUTE_NOT_FOUND', shortPath(req.url));
  } else if (err.statusCode !== undefined && err.statusCode < 500) {
    // fastify's own client errors (a malformed body, an unsupported media type): the client's fault.
    e = createError('DR_ERR_API_BAD_REQUEST', err.message);
  } else {
    req.log.error({ err }, 'request failed');
    e = toDashrelayError(new Error('the request failed'));
  }
  sendError(reply, e);
}

function sendError(reply: FastifyReply, e: DashrelayError): void {
  reply
    .code(e.status ?? 500)
    .header('Access-Control-Allow-Origin', '*')
    .send({ code: e.code, message: e.message });
}

/** The request path for a message: without its query (tokens), at most 200 characters. */
function shortPath(url: string): string {
  const path = url.split('?')[0] ?? '';
  return path.length > 200 ? `${path.slice(0, 200)}…` : path;
}

/** Answers a request no route matches with `DR_ERR_ROUTE_NOT_FOUND` (404), in the catalogue's format. */
export function notFoundHandler(req: FastifyRequest, reply: FastifyReply): void {
  sendError(reply, createError('DR_ERR_ROUTE_NOT_FOUND', shortPath(req.url)));
}

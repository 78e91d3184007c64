import { type ClientRequest, request } from 'node:http';

/**
 * An upload like ffmpeg's dash muxer makes (`-method PUT -http_persistent 1`): chunked transfer
 * encoding, the body written piece by piece.
 */
export function startUpload(url: string, method = 'PUT') {
  const req: ClientRequest = request(url, {
    method,
    headers: { 'Transfer-Encoding': 'chunked' },
    agent: false,
  });
  const status = new Promise<number>((resolve, reject) => {
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
  });
  req.flushHeaders();
  return {
    req,
    write: (data: Buffer | string) => new Promise<void>((resolve) => req.write(data, () => resolve())),
    /** Ends the body; resolves with the response status. */
    end: () => {
      req.end();
      return status;
    },
    /** ffmpeg killed mid-upload: the connection breaks, no final chunk. */
    break: () => {
      status.catch(() => {});
      req.destroy();
    },
  };
}

import { type ChildProcess, spawn } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve } from 'node:path';
import { WebSocketServer } from 'ws';

const types: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.mpd': 'application/dash+xml',
  '.m4s': 'video/mp4',
  '.mp4': 'video/mp4',
};

/**
 * The baseline of the latency benchmark, the design of the seed document: ffmpeg with the dash muxer's
 * default settings (`ffmpeg -i - -f dash manifest.mpd`) writing files, served by a plain static file
 * server, played by dash.js with its defaults. It reuses dashrelay's capture page (with a 1 s
 * MediaRecorder timeslice) and speaks the same ingest protocol, so only the delivery design differs.
 */
export async function startNaiveServer(ffmpegPath: string, workDir: string) {
  const dashDir = join(workDir, 'dash');
  await rm(dashDir, { recursive: true, force: true });
  await mkdir(dashDir, { recursive: true });
  const root = resolve('static');
  const dashjs = createRequire(import.meta.url).resolve('dashjs');
  const naiveViewer = resolve('bench/lib/naive-viewer.html');
  let ffmpeg: ChildProcess | undefined;

  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/');
    let file: string;
    if (path === '/vendor/dash.all.min.js') file = dashjs;
    else if (path === '/naive-viewer.html') file = naiveViewer;
    else if (path.startsWith('/dash/'))
      file = join(dashDir, normalize(path.slice(6)).replace(/^(\.\.[/\\])+/, ''));
    else file = join(root, normalize(path).replace(/^(\.\.[/\\])+/, ''));
    if (!existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': types[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => {
    ws.once('message', () => {
      // The dash muxer's defaults (5 s segments, SegmentTimeline, whole segments written to files). The
      // video is copied: re-encoding with the defaults turns MediaRecorder's 1 ms time base into a
      // 1000 fps x264 encode that never keeps up, which would make the baseline unfairly slow.
      const args = ['-hide_banner', '-loglevel', 'error', '-i', 'pipe:0', '-c:v', 'copy', '-f', 'dash'];
      ffmpeg = spawn(ffmpegPath, [...args, join(dashDir, 'manifest.mpd')], {
        stdio: ['pipe', 'ignore', 'inherit'],
      });
      ffmpeg.stdin?.on('error', () => {});
      ws.send(
        JSON.stringify({
          type: 'ready',
          stream: 'bench',
          sessionId: 'naive',
          archive: '',
          viewerUrl: '/naive-viewer.html',
          manifestUrl: '/dash/manifest.mpd',
        }),
      );
      ws.on('message', (data, isBinary) => {
        if (isBinary) ffmpeg?.stdin?.write(data as Buffer);
      });
      ws.on('close', () => ffmpeg?.stdin?.end());
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    ffmpegPid: () => ffmpeg?.pid,
    async close() {
      ffmpeg?.kill('SIGKILL');
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

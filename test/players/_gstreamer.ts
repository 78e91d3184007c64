import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { onLines, type PlayerDef, type PlayerSample, pushBounded } from './_harness.ts';

/** Debian's Python, which has `gi` (python3-gi); a pyenv or venv python on PATH usually has not. */
const python =
  process.env.DASHRELAY_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const script = fileURLToPath(new URL('./gst-position.py', import.meta.url));
const install =
  'apt-get install gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-libav python3-gi gir1.2-gstreamer-1.0';

let checked: string | undefined | null = null;
function gstMissing(): string | undefined {
  if (checked !== null) return checked;
  const r = spawnSync(python, [script, '--check'], { encoding: 'utf8', timeout: 20_000 });
  if (r.error) checked = `${python}: ${r.error.message} (${install})`;
  else if (r.status !== 0) {
    const line = r.stdout.trim().split('\n').pop() ?? '';
    let missing = '';
    try {
      missing = (JSON.parse(line) as { missing: string[] }).missing.join(', ');
    } catch {
      missing = (r.stderr || line).trim().slice(-300);
    }
    checked = `GStreamer not usable from ${python} (missing: ${missing}): ${install}`;
  } else checked = undefined;
  return checked;
}

function gstPlayer(name: string, mode: 'playbin' | 'dashdemux', description: string): PlayerDef {
  return {
    name,
    positionIsPresentationTime: false,
    missing: async () => gstMissing(),
    async start(ctx) {
      const samples: PlayerSample[] = [];
      const errors: string[] = [];
      const warnings: string[] = [];
      const findings: Record<string, unknown> = { pipeline: description };
      const child = spawn(python, [script, mode, ctx.manifestUrl, '3600'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, GST_DEBUG: process.env.GST_DEBUG ?? '*:1' },
      });
      onLines(child.stdout, (line) => {
        let m: {
          type: string;
          wallMs?: number;
          positionS?: number | null;
          message?: string;
          debug?: string;
        };
        try {
          m = JSON.parse(line);
        } catch {
          return;
        }
        if (m.type === 'position')
          samples.push({ atMs: m.wallMs ?? Date.now(), positionS: m.positionS ?? null });
        else if (m.type === 'error') pushBounded(errors, `${m.message} (${(m.debug ?? '').split('\n')[0]})`);
        else if (m.type === 'warning') pushBounded(warnings, `${m.message}`);
        else if (m.type === 'eos') findings.eosAtMs = Date.now();
      });
      child.stderr.on('data', (d: Buffer) => {
        for (const line of d.toString().split('\n'))
          if (line.trim()) pushBounded(/ERROR/.test(line) ? errors : warnings, line.trim());
      });
      const closed = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
      return {
        samples,
        errors,
        warnings,
        async stop() {
          const exitedEarly = child.exitCode !== null;
          if (!exitedEarly) child.kill('SIGTERM');
          const t = setTimeout(() => child.kill('SIGKILL'), 5000);
          const code = await closed;
          clearTimeout(t);
          return { ...findings, exitedBeforeStop: exitedEarly, exitCode: exitedEarly ? code : null };
        },
      };
    },
  };
}

/** `playbin uri=…` with `fakesink sync=true` as video and audio sink. */
export const gstPlaybin = gstPlayer(
  'gst-playbin',
  'playbin',
  'playbin uri=MPD video-sink="fakesink sync=true" audio-sink="fakesink sync=true"',
);

/** `souphttpsrc location=… ! dashdemux`, each stream `queue ! decodebin ! fakesink sync=true`. */
export const gstDashdemux = gstPlayer(
  'gst-dashdemux',
  'dashdemux',
  'souphttpsrc location=MPD ! dashdemux ! queue ! decodebin ! fakesink sync=true (per stream)',
);

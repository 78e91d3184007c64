import { connect, createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { packagerEnv } from '../../../../src/packager/ffmpeg/ffmpeg-packager.ts';
import {
  findLocalSocketInode,
  findSocketInode,
  processHasSocket,
  procNetEndpoint,
  socketInodeOfFdLink,
} from '../../../../src/packager/ffmpeg/socket-owner.ts';

const table = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 11111 1 0000000000000000 100 0 0 10 0
   1: 0100007F:C350 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 22222 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:C351 0100007F:1F90 06 00000000:00000000 03:00000000 00000000     0        0 0 3 0000000000000000
`;

describe('socket owners from /proc (pure parts)', () => {
  it('spells endpoints as /proc/net/tcp and tcp6 do, per byte order', () => {
    expect(procNetEndpoint({ address: '127.0.0.1', port: 8080 }, 4, true)).toBe('0100007F:1F90');
    expect(procNetEndpoint({ address: '127.0.0.1', port: 8080 }, 4, false)).toBe('7F000001:1F90');
    expect(procNetEndpoint({ address: '::ffff:127.0.0.1', port: 80 }, 4, true)).toBe('0100007F:0050');
    expect(procNetEndpoint({ address: '127.0.0.1', port: 80 }, 6, true)).toBe(
      '0000000000000000FFFF00000100007F:0050',
    );
    expect(procNetEndpoint({ address: '::1', port: 80 }, 6, true)).toBe(
      '00000000000000000000000001000000:0050',
    );
    expect(procNetEndpoint({ address: '::1', port: 80 }, 4, true)).toBeUndefined();
    expect(procNetEndpoint({ address: 'not-an-ip', port: 80 }, 4, true)).toBeUndefined();
  });

  it('finds the inode of a connection by both ends, skipping TIME_WAIT rows and other columns', () => {
    expect(findSocketInode(table, '0100007F:C350', '0100007F:1F90')).toBe(22222);
    expect(findSocketInode(table, '0100007F:C351', '0100007F:1F90')).toBeUndefined();
    expect(findSocketInode(table, '0100007F:1F90', '0100007F:C350')).toBeUndefined();
    expect(findSocketInode('', '0100007F:C350', '0100007F:1F90')).toBeUndefined();
  });

  it('reads socket inodes from fd links only', () => {
    expect(socketInodeOfFdLink('socket:[4242]')).toBe(4242);
    expect(socketInodeOfFdLink('/dev/null')).toBeUndefined();
    expect(socketInodeOfFdLink('pipe:[4242]')).toBeUndefined();
  });

  it('finds the real client socket of a loopback connection among this process’s descriptors', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const client = connect(port, '127.0.0.1');
    await new Promise((r) => client.once('connect', r));
    try {
      const inode = await findLocalSocketInode(
        { address: client.localAddress ?? '', port: client.localPort ?? 0 },
        { address: '127.0.0.1', port },
      );
      expect(inode).toBeGreaterThan(0);
      expect(await processHasSocket(process.pid, inode ?? 0)).toBe(true);
      expect(await processHasSocket(2 ** 22 + 1, inode ?? 0)).toBe(false);
    } finally {
      client.destroy();
      server.close();
    }
  });
});

describe('the packager ffmpeg environment', () => {
  it('drops every proxy variable and sets no_proxy=*', () => {
    const env = packagerEnv({
      PATH: '/bin',
      http_proxy: 'http://p',
      HTTPS_PROXY: 'x',
      ALL_PROXY: 'y',
      NO_PROXY: 'z',
    });
    expect(env).toEqual({ PATH: '/bin', no_proxy: '*' });
  });
});

import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  coversNames,
  generateSelfSigned,
  loadCertificateFiles,
  resolveTls,
  selfSignedCertificate,
} from '../../../src/tls/certificate.ts';
import { lanAddresses, listensEverywhere, machineNames, urlHost } from '../../../src/tls/machine-names.ts';

const names = { dnsNames: ['localhost', 'pi', 'pi.local'], ipAddresses: ['127.0.0.1', '::1', '192.168.1.5'] };

describe('self-signed certificates', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dashrelay-tls-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('makes an EC P-256 certificate naming every name and address, for server authentication, key 0600', async () => {
    const made = await selfSignedCertificate({ dir: join(dir, 'a'), names });
    expect(made).toMatchObject({ selfSigned: true, created: true, certFile: join(dir, 'a', 'cert.pem') });
    const x509 = new X509Certificate(made.cert);
    expect(x509.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(x509.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(coversNames(x509, names)).toBe(true);
    expect(x509.checkHost('evil.example')).toBeUndefined();
    expect(made.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect((await stat(made.keyFile)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'a'))).mode & 0o777).toBe(0o700);
  });

  it('keeps it across starts (same fingerprint), and makes a new one near expiry or for a new address', async () => {
    const first = await selfSignedCertificate({ dir: join(dir, 'b'), names });
    const again = await selfSignedCertificate({ dir: join(dir, 'b'), names });
    expect(again).toMatchObject({ created: false, fingerprint256: first.fingerprint256 });
    const late = new Date(first.validTo.getTime() - 24 * 3600_000);
    const renewed = await selfSignedCertificate({ dir: join(dir, 'b'), names, now: late });
    expect(renewed.created).toBe(true);
    expect(renewed.fingerprint256).not.toBe(first.fingerprint256);
    const moved = { ...names, ipAddresses: [...names.ipAddresses, '10.9.8.7'] };
    const forNewAddress = await selfSignedCertificate({ dir: join(dir, 'b'), names: moved });
    expect(forNewAddress.created).toBe(true);
    expect(new X509Certificate(forNewAddress.cert).checkIP('10.9.8.7')).toBe('10.9.8.7');
  });

  it('replaces files that are not a matching pair', async () => {
    const d = join(dir, 'c');
    const first = await selfSignedCertificate({ dir: d, names });
    await writeFile(first.keyFile, (await generateSelfSigned(names, new Date(), 30)).private);
    const next = await selfSignedCertificate({ dir: d, names });
    expect(next.created).toBe(true);
  });
});

describe('resolveTls', () => {
  let dir: string;
  let certFile: string;
  let keyFile: string;
  let otherKey: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dashrelay-tls-'));
    const pems = await generateSelfSigned(names, new Date(), 30);
    certFile = join(dir, 'cert.pem');
    keyFile = join(dir, 'key.pem');
    otherKey = join(dir, 'other.pem');
    await writeFile(certFile, pems.cert);
    await writeFile(keyFile, pems.private);
    await writeFile(otherKey, (await generateSelfSigned(names, new Date(), 30)).private);
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('is undefined (plain HTTP) when nothing is configured', async () => {
    expect(await resolveTls({ tlsSelfSigned: false }, dir)).toBeUndefined();
  });

  it('loads a given certificate and key', async () => {
    const served = await resolveTls({ tlsCert: certFile, tlsKey: keyFile, tlsSelfSigned: false }, dir);
    expect(served).toMatchObject({ selfSigned: false, created: false, certFile, keyFile });
    expect(served?.fingerprint256).toBe(new X509Certificate(served?.cert ?? '').fingerprint256);
  });

  it.each([
    [{ tlsCert: 'C', tlsSelfSigned: false }, /--tls-cert was given without --tls-key/],
    [{ tlsKey: 'K', tlsSelfSigned: false }, /--tls-key was given without --tls-cert/],
    [{ tlsCert: 'C', tlsKey: 'K', tlsSelfSigned: true }, /not both/],
    [{ tlsCert: '/nonexistent/cert.pem', tlsKey: 'K', tlsSelfSigned: false }, /cannot read --tls-cert/],
  ])('refuses %j with DR_ERR_TLS_SETUP', async (server, message) => {
    await expect(resolveTls(server, dir)).rejects.toMatchObject({ code: 'DR_ERR_TLS_SETUP', message });
  });

  it('refuses a file that is not PEM, and a key that is not the certificate’s', async () => {
    await expect(loadCertificateFiles(keyFile, keyFile)).rejects.toMatchObject({
      code: 'DR_ERR_TLS_SETUP',
      message: /is not a PEM certificate/,
    });
    await expect(loadCertificateFiles(certFile, certFile)).rejects.toMatchObject({
      message: /is not an unencrypted PEM private key/,
    });
    await expect(loadCertificateFiles(certFile, otherKey)).rejects.toMatchObject({
      message: /is not the private key of --tls-cert/,
    });
  });
});

describe('machine names', () => {
  const interfaces = {
    lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true }],
    eth0: [
      { address: '192.168.1.5', family: 'IPv4', internal: false },
      { address: 'fe80::1%eth0', family: 'IPv6', internal: false },
      { address: 'fd00::2', family: 'IPv6', internal: false },
    ],
  };

  it('names localhost, the host name and its .local name, and every interface address without zone', () => {
    expect(machineNames('Pi', interfaces)).toEqual({
      dnsNames: ['localhost', 'pi', 'pi.local'],
      ipAddresses: ['127.0.0.1', '::1', '192.168.1.5', 'fe80::1', 'fd00::2'],
    });
    expect(machineNames('my box_1', interfaces).dnsNames).toEqual(['localhost']);
    expect(machineNames('cam.example.org.', interfaces).dnsNames).toEqual(['localhost', 'cam.example.org']);
  });

  it('lists LAN addresses IPv4 first, without loopback or link-local, and brackets IPv6 in URLs', () => {
    expect(lanAddresses(interfaces)).toEqual(['192.168.1.5', 'fd00::2']);
    expect(urlHost('fd00::2', 8443)).toBe('[fd00::2]:8443');
    expect(urlHost('192.168.1.5', 8443)).toBe('192.168.1.5:8443');
    expect(['0.0.0.0', '::', '127.0.0.1', '192.168.1.5'].map(listensEverywhere)).toEqual([
      true,
      true,
      false,
      false,
    ]);
  });
});

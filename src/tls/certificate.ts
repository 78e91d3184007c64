import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { generate } from 'selfsigned';
import type { Config } from '../config/config.ts';
import { DashrelayError } from '../errors/errors.ts';
import { type MachineNames, machineNames } from './machine-names.ts';

/** The certificate and key an HTTPS server is started with, and what the log says about them. */
export interface ServedCertificate {
  /** PEM private key. */
  readonly key: string;
  /** PEM certificate (chain). */
  readonly cert: string;
  /** SHA-256 fingerprint of the (first) certificate, colon-separated upper-case hex (`AB:CD:…`). */
  readonly fingerprint256: string;
  /** Absolute path of the certificate file. */
  readonly certFile: string;
  /** Absolute path of the key file. */
  readonly keyFile: string;
  /** Made by dashrelay (`--tls-self-signed`) rather than given. */
  readonly selfSigned: boolean;
  /** Self-signed and made on this start (first start, expired, or the machine's addresses changed). */
  readonly created: boolean;
  /** End of validity. */
  readonly validTo: Date;
}

/** Validity of a made certificate, days: the most Apple platforms accept for a TLS server certificate. */
export const selfSignedDays = 825;
/** A kept certificate with less than this left is made again, ms, rather than let it lapse mid-run. */
const renewBeforeMs = 7 * 24 * 3600_000;

function tlsError(message: string, cause?: unknown): DashrelayError {
  return new DashrelayError('DR_ERR_TLS_SETUP', [message], cause === undefined ? undefined : { cause });
}

/**
 * What `server.tlsCert`/`tlsKey`/`tlsSelfSigned` ask for: the given PEM files, the self-signed
 * certificate kept in `<outputDir>/tls/` (made when needed), or `undefined` for plain HTTP.
 * @param server the `server` section of the configuration
 * @param outputDir the output directory (`<outputDir>/tls/` keeps the self-signed certificate)
 * @throws DashrelayError `DR_ERR_TLS_SETUP`: only one of cert/key, both files and `tlsSelfSigned`,
 * a file unreadable or not PEM, a key not of the certificate, or a self-signed one that cannot be written.
 */
export async function resolveTls(
  server: Pick<Config['server'], 'tlsCert' | 'tlsKey' | 'tlsSelfSigned'>,
  outputDir: string,
): Promise<ServedCertificate | undefined> {
  const { tlsCert, tlsKey, tlsSelfSigned } = server;
  if (tlsCert !== undefined || tlsKey !== undefined) {
    if (tlsSelfSigned) throw tlsError('give either --tls-cert and --tls-key, or --tls-self-signed, not both');
    if (tlsCert === undefined || tlsKey === undefined) {
      throw tlsError(
        tlsCert === undefined
          ? '--tls-key was given without --tls-cert: give both PEM files (certificate chain and its key)'
          : '--tls-cert was given without --tls-key: give both PEM files (certificate chain and its key)',
      );
    }
    return loadCertificateFiles(tlsCert, tlsKey);
  }
  if (tlsSelfSigned) return selfSignedCertificate({ dir: join(resolve(outputDir), 'tls') });
  return undefined;
}

/**
 * Reads a PEM certificate (chain) and its private key, and checks that they belong together.
 * @param certFile path of the PEM certificate; a chain starts with the server's own certificate
 * @param keyFile path of its PEM private key (unencrypted)
 * @throws DashrelayError `DR_ERR_TLS_SETUP` naming the file that cannot be read or parsed, or saying
 * that the key is not the certificate's.
 */
export async function loadCertificateFiles(certFile: string, keyFile: string): Promise<ServedCertificate> {
  const read = async (file: string, what: string): Promise<string> => {
    try {
      return await readFile(file, 'utf8');
    } catch (err) {
      throw tlsError(`cannot read ${what} ${file}: ${(err as Error).message}`, err);
    }
  };
  const cert = await read(certFile, '--tls-cert');
  const key = await read(keyFile, '--tls-key');
  const x509 = parseCertificate(cert, `--tls-cert ${certFile}`);
  checkKeyPair(x509, key, `--tls-key ${keyFile}`, `--tls-cert ${certFile}`);
  return {
    key,
    cert,
    fingerprint256: x509.fingerprint256,
    certFile: resolve(certFile),
    keyFile: resolve(keyFile),
    selfSigned: false,
    created: false,
    validTo: new Date(x509.validTo),
  };
}

function parseCertificate(pem: string, what: string): X509Certificate {
  if (!pem.includes('-----BEGIN CERTIFICATE-----'))
    throw tlsError(`${what} is not a PEM certificate (no "-----BEGIN CERTIFICATE-----" line)`);
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw tlsError(`${what} is not a valid PEM certificate: ${(err as Error).message}`, err);
  }
}

function checkKeyPair(x509: X509Certificate, keyPem: string, keyWhat: string, certWhat: string): void {
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw tlsError(`${keyWhat} is not an unencrypted PEM private key: ${(err as Error).message}`, err);
  }
  if (!x509.checkPrivateKey(key)) throw tlsError(`${keyWhat} is not the private key of ${certWhat}`);
}

export interface SelfSignedOptions {
  /** Directory that keeps `cert.pem` and `key.pem` (made 0700 if missing). */
  readonly dir: string;
  /** Names and addresses the certificate must cover. Default: {@link machineNames}. */
  readonly names?: MachineNames;
  /** Validity of a new certificate, days. Default {@link selfSignedDays}. */
  readonly days?: number;
  /** The current time (for the expiry check). Default now. */
  readonly now?: Date;
}

/**
 * The self-signed certificate kept in `dir`, made (EC P-256 key, SHA-256 signature, every name and
 * address of `names` as subjectAltName, server authentication as extended key usage) when there is none
 * yet, when it expires within a week, when it lacks one of `names` (a new Wi-Fi address) or when the
 * files do not match. Reusing it keeps the fingerprint a phone has already accepted. `key.pem` is 0600.
 * Made in-process by the `selfsigned` package (WebCrypto), so no openssl is needed.
 * @throws DashrelayError `DR_ERR_TLS_SETUP` when `dir` is not writable.
 */
export async function selfSignedCertificate(options: SelfSignedOptions): Promise<ServedCertificate> {
  const dir = resolve(options.dir);
  const names = options.names ?? machineNames();
  const now = options.now ?? new Date();
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  const kept = await readKept(certFile, keyFile, names, now);
  if (kept) return kept;

  const pems = await generateSelfSigned(names, now, options.days ?? selfSignedDays);
  // Written beside the kept files and renamed over them, so a crash or a second server starting at the
  // same time never leaves half a file; a mismatched pair is made again on the next start.
  const tmp = `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const tmpCert = join(dir, `cert.pem${tmp}`);
  const tmpKey = join(dir, `key.pem${tmp}`);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(tmpKey, pems.private, { mode: 0o600 });
    await writeFile(tmpCert, pems.cert);
    await rename(tmpKey, keyFile);
    await rename(tmpCert, certFile);
  } catch (err) {
    await rm(tmpCert, { force: true });
    await rm(tmpKey, { force: true });
    throw tlsError(`cannot write the self-signed certificate in ${dir}: ${(err as Error).message}`, err);
  }
  const made = await readKept(certFile, keyFile, names, now);
  if (!made) throw tlsError(`the certificate made in ${dir} does not cover this machine's addresses`);
  return { ...made, created: true };
}

/**
 * A self-signed X.509 v3 certificate, CN `dashrelay`, valid from a minute before `now` for `days`.
 * @returns PEM private key and certificate
 */
export async function generateSelfSigned(
  names: MachineNames,
  now: Date,
  days: number,
): Promise<{ readonly private: string; readonly cert: string }> {
  // A minute back: a phone whose clock runs slightly behind must not see a certificate from the future.
  const notBeforeDate = new Date(now.getTime() - 60_000);
  const notAfterDate = new Date(now.getTime() + days * 24 * 3600_000);
  const pems = await generate([{ name: 'commonName', value: 'dashrelay' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      // Apple platforms refuse a server certificate without it, even one the user trusts.
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          ...names.dnsNames.map((value) => ({ type: 2 as const, value })),
          ...names.ipAddresses.map((ip) => ({ type: 7 as const, ip })),
        ],
      },
    ],
  });
  return { private: pems.private, cert: pems.cert };
}

/** The kept pair when it is usable: readable, matching, valid for another week, covering `names`. */
async function readKept(
  certFile: string,
  keyFile: string,
  names: MachineNames,
  now: Date,
): Promise<ServedCertificate | undefined> {
  let cert: string;
  let key: string;
  try {
    [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
  } catch {
    return undefined;
  }
  try {
    const x509 = new X509Certificate(cert);
    const validTo = new Date(x509.validTo);
    if (!x509.checkPrivateKey(createPrivateKey(key))) return undefined;
    if (!coversNames(x509, names)) return undefined;
    if (validTo.getTime() - now.getTime() < renewBeforeMs) return undefined;
    if (new Date(x509.validFrom).getTime() > now.getTime()) return undefined;
    return {
      key,
      cert,
      fingerprint256: x509.fingerprint256,
      certFile,
      keyFile,
      selfSigned: true,
      created: false,
      validTo,
    };
  } catch {
    // Unparsable files are replaced like any other unusable ones.
    return undefined;
  }
}

/**
 * Whether the certificate names every one of `names` in its subjectAltName.
 * @param x509 the certificate
 * @param names DNS names and IP addresses it must cover
 */
export function coversNames(x509: X509Certificate, names: MachineNames): boolean {
  return (
    names.dnsNames.every((n) => x509.checkHost(n, { wildcards: false }) !== undefined) &&
    names.ipAddresses.every((a) => x509.checkIP(a) !== undefined)
  );
}

import { createHash, timingSafeEqual } from 'node:crypto';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { Config } from '../config/config.ts';
import type { AccessAction, AccessControl, PublishAdmission, PublishAttempt } from '../contracts/access.ts';
import type { Logger } from '../contracts/logger.ts';
import { createError, type DashrelayError } from '../errors/errors.ts';
import { AddressRules, isLoopbackAddress, isLoopbackHost } from './address-rules.ts';
import { looksLikeToken, TokenRefused, type VerifiedToken, verifyToken } from './tokens.ts';

export interface AccessControlOptions {
  readonly auth: Config['auth'];
  /** The secret, read from `auth.secret` or `auth.secretFile` (see readSecret). */
  readonly secret: string | undefined;
  /** `server.host`: the safe default depends on whether it is loopback. */
  readonly listenHost: string;
  readonly maxPublishersPerAddress: number;
  readonly log: Logger;
}

/** Verified tokens remembered, at most (each is a few hundred bytes). */
const maxCachedTokens = 10_000;

/**
 * The access policy of README "Security", one object for every ingest, the origin and the API:
 * address rules first, then the failure rate of the address, then the credential, then the limits.
 * Credentials are compared in constant time (keys: `timingSafeEqual` of their SHA-256, so lengths do
 * not leak either; tokens: jose), refusals are logged with the address and never the credential.
 */
export class Access implements AccessControl {
  private readonly publishRules: AddressRules;
  private readonly playRules: AddressRules;
  private readonly failures: RateLimiterMemory;
  private readonly publishers = new Map<string, number>();
  private readonly verified = new Map<string, VerifiedToken>();
  private readonly keys: ReadonlyMap<string, Buffer>;
  private readonly adminDigest: Buffer | undefined;
  /** Publishers need no credential (`auth.anonymousPublish`, or the loopback default). */
  readonly anonymousPublish: boolean;
  /** No credential of any kind is configured: publishing off loopback is closed (the safe default). */
  readonly publishClosed: boolean;

  constructor(private readonly opts: AccessControlOptions) {
    const { auth } = opts;
    this.publishRules = new AddressRules(auth.publishRules);
    this.playRules = new AddressRules(auth.playRules);
    this.failures = new RateLimiterMemory({ points: auth.maxFailuresPerMinute, duration: 60 });
    this.keys = new Map(Object.entries(auth.publishKeys).map(([s, k]) => [s, digest(k)]));
    this.adminDigest = auth.adminToken ? digest(auth.adminToken) : undefined;
    const credentialConfigured = opts.secret !== undefined || this.keys.size > 0;
    this.anonymousPublish =
      auth.anonymousPublish ?? (!credentialConfigured && isLoopbackHost(opts.listenHost));
    this.publishClosed = !this.anonymousPublish && !credentialConfigured;
    if (auth.playTokens !== 'off' && opts.secret === undefined) {
      throw createError(
        'DR_ERR_CONFIG_INVALID',
        'auth.playTokens needs auth.secret (--secret) to check play tokens',
      );
    }
  }

  get adminTokenSet(): boolean {
    return this.adminDigest !== undefined;
  }

  /** Whether the address rules for `action` let `address` in (no log, no throw). */
  permits(action: AccessAction, address: string): boolean {
    return (action === 'publish' ? this.publishRules : this.playRules).denies(address) === undefined;
  }

  checkAddress(action: AccessAction, address: string): void {
    const rule = (action === 'publish' ? this.publishRules : this.playRules).denies(address);
    if (rule === undefined) return;
    const err = createError(
      'DR_ERR_ADDRESS_DENIED',
      address,
      action === 'publish' ? 'publish' : 'watch',
      `auth.${action}Rules: "${rule}"`,
    );
    this.opts.log.warn({ address, code: err.code }, `${action} refused: ${err.message}`);
    throw err;
  }

  async admitPublisher(attempt: PublishAttempt): Promise<PublishAdmission> {
    const { stream, address, credential } = attempt;
    this.checkAddress('publish', address);
    this.checkOrigin(attempt);
    await this.checkFailureRate(address, 'publish');
    if (!this.anonymousPublish) {
      if (this.publishClosed)
        throw this.refuse(createError('DR_ERR_PUBLISH_CLOSED', this.opts.listenHost), address, stream);
      await this.checkPublishCredential(stream, address, credential);
    }
    const count = this.publishers.get(address) ?? 0;
    if (count >= this.opts.maxPublishersPerAddress) {
      throw this.refuse(createError('DR_ERR_LIMIT_PUBLISHERS', address, count), address, stream);
    }
    this.publishers.set(address, count + 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        const left = (this.publishers.get(address) ?? 1) - 1;
        if (left > 0) this.publishers.set(address, left);
        else this.publishers.delete(address);
      },
    };
  }

  playTokenRequired(stream: string): boolean {
    const { playTokens } = this.opts.auth;
    return playTokens === 'all' || (Array.isArray(playTokens) && playTokens.includes(stream));
  }

  async authorizePlay(stream: string, address: string, credential: string | undefined): Promise<void> {
    if (!this.playTokenRequired(stream)) return;
    const cached = credential ? this.verified.get(credential) : undefined;
    if (cached && cached.expiresAtMs > Date.now() && covers(cached, stream, 'play')) return;
    await this.checkFailureRate(address, 'play');
    if (!credential) {
      throw this.refuse(
        createError(
          'DR_ERR_AUTH_MISSING',
          `Watching ${stream}`,
          'add ?token=<play token> to the URL (dashrelay token --stream <name> --action play)',
        ),
        address,
        stream,
      );
    }
    await this.checkToken(stream, address, credential, 'play');
  }

  isAdmin(address: string, credential: string | undefined): boolean {
    if (!this.adminDigest) return isLoopbackAddress(address);
    return credential !== undefined && timingSafeEqual(digest(credential), this.adminDigest);
  }

  requireAdmin(what: string, address: string, credential: string | undefined): void {
    if (this.isAdmin(address, credential)) return;
    const err = this.adminDigest
      ? createError('DR_ERR_ADMIN_REQUIRED', what)
      : createError('DR_ERR_API_LOOPBACK_ONLY', what);
    this.opts.log.warn({ address, code: err.code }, `API refused: ${err.message}`);
    throw err;
  }

  private checkOrigin({ origin, ownOrigin, address, stream }: PublishAttempt): void {
    if (origin === undefined) return; // not a browser: the credential decides
    const allowed = this.opts.auth.allowedOrigins;
    if (allowed.includes('*') || allowed.includes(origin)) return;
    if (ownOrigin !== undefined && origin.toLowerCase() === ownOrigin.toLowerCase()) return;
    throw this.refuse(createError('DR_ERR_ORIGIN_DENIED', origin.slice(0, 200)), address, stream);
  }

  private async checkPublishCredential(
    stream: string,
    address: string,
    credential: string | undefined,
  ): Promise<void> {
    if (!credential) {
      throw this.refuse(
        createError(
          'DR_ERR_AUTH_MISSING',
          `Publishing ${stream}`,
          'send ?token=<token> or Authorization: Bearer <token> (dashrelay token --stream <name>), or the stream key',
        ),
        address,
        stream,
      );
    }
    const key = this.keys.get(stream);
    if (key && timingSafeEqual(digest(credential), key)) return;
    if (this.opts.secret !== undefined && looksLikeToken(credential)) {
      await this.checkToken(stream, address, credential, 'publish');
      return;
    }
    throw await this.fail(
      createError(
        'DR_ERR_AUTH_INVALID',
        `publish ${stream}`,
        key ? 'wrong key' : 'not a key or token of this server',
      ),
      address,
      stream,
    );
  }

  private async checkToken(
    stream: string,
    address: string,
    token: string,
    action: AccessAction,
  ): Promise<void> {
    const secret = this.opts.secret;
    let verified: VerifiedToken;
    try {
      if (secret === undefined) throw new TokenRefused('this server has no secret to check tokens with');
      verified = await verifyToken(secret, token);
    } catch (err) {
      const why = err instanceof TokenRefused ? err.message : 'the token could not be checked';
      throw await this.fail(createError('DR_ERR_AUTH_INVALID', `${action} ${stream}`, why), address, stream);
    }
    if (verified.action !== action) {
      throw await this.fail(
        createError(
          'DR_ERR_AUTH_INVALID',
          `${action} ${stream}`,
          `the token is for ${verified.action}, not ${action}`,
        ),
        address,
        stream,
      );
    }
    if (!covers(verified, stream, action)) {
      throw await this.fail(
        createError('DR_ERR_AUTH_INVALID', `${action} ${stream}`, 'the token is for another stream'),
        address,
        stream,
      );
    }
    if (this.verified.size >= maxCachedTokens) this.verified.clear();
    this.verified.set(token, verified);
  }

  private async checkFailureRate(address: string, action: AccessAction): Promise<void> {
    const state = await this.failures.get(address);
    if (state && state.remainingPoints <= 0) {
      const err = createError(
        'DR_ERR_AUTH_RATE_LIMITED',
        address,
        Math.max(1, Math.ceil(state.msBeforeNext / 1000)),
      );
      this.opts.log.warn({ address, code: err.code, action }, err.message);
      throw err;
    }
  }

  /** A wrong credential: counted against the address, logged, returned to throw. */
  private async fail(err: DashrelayError, address: string, stream: string): Promise<DashrelayError> {
    await this.failures.penalty(address, 1);
    return this.refuse(err, address, stream);
  }

  private refuse(err: DashrelayError, address: string, stream: string): DashrelayError {
    this.opts.log.warn({ address, stream, code: err.code }, `refused: ${err.message}`);
    return err;
  }
}

function covers(t: VerifiedToken, stream: string, action: AccessAction): boolean {
  return t.action === action && (t.stream === stream || t.stream === '*');
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

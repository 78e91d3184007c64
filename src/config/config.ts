import { Value } from '@sinclair/typebox/value';
import { createError } from '../errors/errors.ts';
import {
  type Config,
  type ConfigInput,
  ConfigSchema,
  type LatencyMode,
  type LatencyProfile,
} from './schema.ts';

export {
  type Config,
  type ConfigInput,
  ConfigSchema,
  type LatencyMode,
  type LatencyProfile,
  latencyModes,
} from './schema.ts';

/**
 * Fills `input` with the schema's defaults, validates it, and returns it deeply frozen.
 * @throws DashrelayError `DR_ERR_CONFIG_INVALID` naming the first bad key by its path (`server.port`).
 */
export function resolveConfig(input: ConfigInput = {}): Readonly<Config> {
  const merged = Value.Default(ConfigSchema, dropUndefined(structuredClone(input)));
  const first = Value.Errors(ConfigSchema, merged).First();
  if (first) {
    const key = first.path.replace(/^\//, '').replaceAll('/', '.') || '(root)';
    throw createError(
      'DR_ERR_CONFIG_INVALID',
      `${key}: ${first.message} (got ${JSON.stringify(first.value)})`,
    );
  }
  return deepFreeze(merged as Config);
}

/** Every default, from the schema: the one place they are written. */
export const defaultConfig: Readonly<Config> = resolveConfig();

/** The default parameters of each latency mode. */
export const latencyProfiles: Readonly<Record<LatencyMode, LatencyProfile>> = Object.freeze({
  low: defaultConfig.latency.low,
  normal: defaultConfig.latency.normal,
});

/** The parameters of the configured latency mode. */
export function activeProfile(config: Readonly<Config>): LatencyProfile {
  return config.latency[config.latency.mode];
}

/** An `undefined` value means "not set", as if the key were absent (flags and env leave such holes). */
function dropUndefined<T>(value: T): T {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) delete (value as Record<string, unknown>)[k];
      else dropUndefined(v);
    }
  }
  return value;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

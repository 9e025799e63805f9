/**
 * engine/device-choice — the `--device` values (auto, cpu, gpu) and their parsing, free of tfjs so
 * that the CLI can check a flag without loading the engine.
 */
import { InvalidHyperparameterError } from '../common/errors.js';

export type DeviceChoice = 'auto' | 'cpu' | 'gpu';
export const DEVICE_CHOICES: readonly DeviceChoice[] = ['auto', 'cpu', 'gpu'];

/** The device named by a flag or variable; a clear error for anything else. */
export function parseDevice(text: string): DeviceChoice {
  if ((DEVICE_CHOICES as readonly string[]).includes(text)) return text as DeviceChoice;
  throw new InvalidHyperparameterError('device', `expected auto, cpu or gpu, got "${text}"`);
}

/**
 * cli/colour — whether a stream gets ANSI colours: only a terminal, and never when NO_COLOR is
 * set to anything but the empty string (https://no-color.org) or TERM is "dumb".
 */
type Env = Readonly<Record<string, string | undefined>>;

export function colourAllowed(env: Env = process.env): boolean {
  return !env.NO_COLOR && env.TERM !== 'dumb';
}

export function useColour(stream: NodeJS.WritableStream, env: Env = process.env): boolean {
  return Boolean((stream as { isTTY?: boolean }).isTTY) && colourAllowed(env);
}

/** A painter for `stream`: wraps text in an SGR code when colours are on, returns it as is otherwise. */
export function painter(stream: NodeJS.WritableStream, env: Env = process.env): (sgr: string, text: string) => string {
  return useColour(stream, env) ? (sgr, text) => `\x1b[${sgr}m${text}\x1b[0m` : (_sgr, text) => text;
}

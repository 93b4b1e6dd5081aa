/** Sets variables in process.env and returns how to put back what was there. */
export function applyEnvironment(variables: Readonly<Record<string, string>>): () => void {
  const before = Object.fromEntries(Object.keys(variables).map((name) => [name, process.env[name]]));
  Object.assign(process.env, variables);
  return () => {
    for (const [name, value] of Object.entries(before)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

/** Runs with the variables set, as the construct's `environment` prop sets them on the function; restores after. */
export async function withEnvironment<T>(
  variables: Readonly<Record<string, string>>,
  run: () => Promise<T>,
): Promise<T> {
  const restore = applyEnvironment(variables);
  try {
    return await run();
  } finally {
    restore();
  }
}

// Stands in for `storybook/test` (Storybook 9+) and `@storybook/test` (Storybook 8) when the
// repository does not depend on them (see `vite.config.mjs`): stories import `fn()` from them for
// their args' spies, and `expect`/`userEvent`/`within` for `play` functions, which Studio never
// runs. So everything here only has to exist: `fn()` records calls, the rest does nothing.

type Callable = (...args: unknown[]) => unknown;

export interface Mock extends Callable {
  mock: { calls: unknown[][]; results: Array<{ type: "return"; value: unknown }> };
  mockName(name: string): Mock;
  getMockName(): string;
  mockImplementation(implementation: Callable): Mock;
  mockReturnValue(value: unknown): Mock;
  mockClear(): Mock;
  mockReset(): Mock;
  mockRestore(): Mock;
}

export function fn(implementation?: Callable): Mock {
  let name = "spy";
  let current = implementation;
  const spy = ((...args: unknown[]) => {
    spy.mock.calls.push(args);
    const value = current?.(...args);
    spy.mock.results.push({ type: "return", value });
    return value;
  }) as Mock;
  spy.mock = { calls: [], results: [] };
  spy.mockName = (next) => ((name = next), spy);
  spy.getMockName = () => name;
  spy.mockImplementation = (next) => ((current = next), spy);
  spy.mockReturnValue = (value) => ((current = () => value), spy);
  spy.mockClear = () => ((spy.mock = { calls: [], results: [] }), spy);
  spy.mockReset = () => ((current = implementation), spy.mockClear());
  spy.mockRestore = spy.mockReset;
  return spy;
}

export function spyOn(target: Record<string, unknown>, method: string): Mock {
  const original = target?.[method];
  return fn(typeof original === "function" ? (original as Callable).bind(target) : undefined);
}

export const isMockFunction = (value: unknown): boolean =>
  typeof value === "function" && "mock" in value && "mockClear" in value;
export const mocked = <T>(value: T): T => value;
export const clearAllMocks = (): void => {};
export const resetAllMocks = (): void => {};
export const restoreAllMocks = (): void => {};
export const onMockCall = (): void => {};

/** Any property, any call, at any depth: `expect(x).not.toHaveBeenCalled()` does nothing. */
const inert: unknown = new Proxy(function inert() {}, {
  get: (_target, key) => (key === "then" ? undefined : inert),
  apply: () => inert,
});

export const expect = inert as Callable & Record<string, Callable>;
export const userEvent = inert as Record<string, Callable>;
export const fireEvent = inert as Callable & Record<string, Callable>;
export const screen = inert as Record<string, Callable>;
export const within = (() => inert) as (element: unknown) => Record<string, Callable>;
export const waitFor = async <T>(callback: () => T | Promise<T>): Promise<T | undefined> => {
  try {
    return await callback();
  } catch {
    return undefined;
  }
};
export const waitForElementToBeRemoved = async (): Promise<void> => {};

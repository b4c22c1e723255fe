// Storybook is not a dependency of this repository: Studio resolves `storybook/test` to a no-op
// stand-in, so the stories' `fn()` spies load there. This declares the part the stories use.
declare module "storybook/test" {
  export function fn<T extends (...args: any[]) => any>(implementation?: T): T;
}

// Button's stories, in Storybook's Component Story Format. Studio renders each of them as a tile of
// Button's card, the way Storybook would: with its args (meta's, then the story's), its render
// function, its decorators (story, meta, then .storybook/preview.tsx) and its loaders.
import type { ComponentProps, ReactNode } from "react";
import { fn } from "storybook/test";
import { Button } from "./Button";

type Args = ComponentProps<typeof Button>;
type Story = () => ReactNode;

export default {
  title: "Components/Button",
  component: Button,
  // `fn()` is a spy in Storybook; Studio resolves it to a no-op one (the repository has no Storybook).
  args: { variant: "primary", onClick: fn() },
  decorators: [
    (Story: Story) => (
      <div data-decorated="meta">
        <Story />
      </div>
    ),
  ],
  // Work in progress: not a story yet.
  excludeStories: ["Unfinished"],
};

/** No args of its own: the component's default label. */
export const Default = {};

export const Secondary = {
  name: "Secondary action",
  args: { variant: "secondary", children: "Cancel order" },
};

export const LongLabel = {
  args: { children: "Save all pending changes" },
  render: (args: Args) => (
    <div style={{ maxWidth: 160 }}>
      <Button {...args} />
    </div>
  ),
  decorators: [
    (Story: Story) => (
      <div data-decorated="story">
        <Story />
      </div>
    ),
  ],
};

export const WithLoader = {
  loaders: [async () => ({ label: "Loaded label" })],
  render: (args: Args, { loaded }: { loaded: { label: string } }) => <Button {...args}>{loaded.label}</Button>,
};

/** A CSF 2 story: the story is its render function, annotated with properties. */
export const LegacyTemplate = (args: Args) => <Button {...args} />;
LegacyTemplate.args = { variant: "secondary", children: "Legacy story" } satisfies Args;

/** Left out by `excludeStories`. */
export const Unfinished = { args: { children: "Not ready yet" } };

/** Shown in Storybook's docs only (`!dev`), so not in Studio either. */
export const DocsOnly = { tags: ["!dev"], args: { children: "Only in the docs" } };

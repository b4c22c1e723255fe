// Storybook's preview: its decorators and parameters apply to every story, in Studio too.
import type { ReactNode } from "react";

const preview = {
  parameters: { layout: "centered" },
  decorators: [
    (Story: () => ReactNode) => (
      <div data-decorated="preview">
        <Story />
      </div>
    ),
  ],
};

export default preview;

// Stories are for a story tool, not for Studio: the renderer must never render this file.
import { Button } from "./Button";

export default { title: "Button", component: Button };

export function StoryOnlyPrimary() {
  return <Button>Story only</Button>;
}

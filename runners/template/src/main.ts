// Entry point: `PORT=8000 npx tsx runners/template/src/main.ts` (PORT=0 picks a free port and prints it).
import { serveRunner } from "../../sdk/src/runner.js";
import { textRunner } from "./text-runner.js";

await serveRunner(textRunner);

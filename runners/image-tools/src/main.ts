// Entry point of vyvo/image-tools: `PORT=8000 npx tsx runners/image-tools/src/main.ts`.
import { serveRunner } from "../../sdk/src/runner.js";
import { imageToolsRunner } from "./image-tools-runner.js";

await serveRunner(imageToolsRunner);

import { describe, expect, it } from "vitest";
import { artifactKey, fileNameProblem, isValidContentType, safeFileName } from "./artifact-names.js";
import { isValidKey } from "./artifact-store.js";

describe("file names an agent reports", () => {
  it("accepts base names, unicode included", () => {
    for (const name of ["out.png", "résumé final.pdf", "图像.webp", "a".repeat(255), ".hidden"]) {
      expect(fileNameProblem(name), name).toBeNull();
    }
  });

  it("refuses empty names, folders, control characters, dot names and names over 255 bytes", () => {
    expect(fileNameProblem("")).toMatch(/empty/);
    expect(fileNameProblem("../etc/passwd")).toMatch(/base name/);
    expect(fileNameProblem("a\\b.png")).toMatch(/base name/);
    expect(fileNameProblem("a\nb.png")).toMatch(/control/);
    expect(fileNameProblem("a\u0000b")).toMatch(/control/);
    expect(fileNameProblem("..")).toMatch(/name a file/);
    expect(fileNameProblem("é".repeat(128))).toMatch(/255 bytes/);
  });
});

describe("content types", () => {
  it("accepts media types with parameters", () => {
    for (const type of [
      "image/png",
      "application/vnd.api+json",
      'text/plain; charset="utf-8"',
      "audio/x-wav;rate=44100",
    ]) {
      expect(isValidContentType(type), type).toBe(true);
    }
  });

  it("refuses what is not a media type", () => {
    for (const type of [
      "",
      "png",
      "image/",
      "/png",
      "image/png\r\nx-evil: 1",
      "image png",
      `image/${"x".repeat(300)}`,
    ]) {
      expect(isValidContentType(type), type).toBe(false);
    }
  });
});

describe("storage keys", () => {
  it("keep a readable, URL- and path-safe version of the name", () => {
    expect(safeFileName("out.png")).toBe("out.png");
    expect(safeFileName("résumé final (2).pdf")).toBe("resume_final_2_.pdf");
    expect(safeFileName("../../etc/passwd")).toBe("etc_passwd");
    expect(safeFileName(".env")).toBe("env");
    expect(safeFileName("图像")).toBe("file");
    const long = safeFileName(`${"a".repeat(300)}.tar.gz`);
    expect(long).toHaveLength(100);
    expect(long.endsWith(".gz")).toBe(true);
  });

  it("put each artifact in its own folder under its job, and always make a valid key", () => {
    const key = artifactKey("job-1", "b0e3c1f2", "My Image.PNG");
    expect(key).toBe("jobs/job-1/b0e3c1f2/My_Image.PNG");
    for (const name of ["..", ".", "...", "a/b", "\u0000", " ", "图"]) {
      expect(isValidKey(artifactKey("job-1", "x", name)), name).toBe(true);
    }
  });

  it("R15 keys never hold a traversal, an absolute path, an escape or an empty segment", () => {
    for (const key of ["../x", "a/../b", "/etc/passwd", "a//b", "a/", "%2e%2e/x", "a\\b", ".meta/x", "a/.tmp/b", ""]) {
      expect(isValidKey(key), key).toBe(false);
    }
  });
});

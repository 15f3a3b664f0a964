import type { FieldIssue } from "../../errors.js";
import { builder } from "../builder.js";

/** A field-level problem with input, fal style (loc is the path to the value). */
export const FieldIssueRef = builder.objectRef<FieldIssue>("FieldIssue").implement({
  fields: (t) => ({
    loc: t.stringList({ resolve: (issue) => issue.loc.map(String) }),
    msg: t.exposeString("msg"),
    type: t.exposeString("type"),
  }),
});

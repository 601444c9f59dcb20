import { describe, expect, it } from "vitest";
import { DLT_PROBLEMS, type DltProblemKey, dltProblem } from "../../src/platform/delivery/dlt-reasons";

const P = DLT_PROBLEMS;

describe("dltProblem: DLT platform codes", () => {
  const codes: [number, DltProblemKey][] = [
    [600, "entity"],
    [601, "entity"],
    [602, "entity"],
    [603, "entity"],
    [604, "entity"],
    [605, "telemarketerForEntity"],
    [610, "telemarketer"],
    [611, "telemarketer"],
    [612, "telemarketer"],
    [613, "telemarketerForEntity"],
    [614, "chain"],
    [615, "chain"],
    [616, "chain"],
    [617, "chain"],
    [618, "chain"],
    [620, "header"],
    [621, "header"],
    [622, "header"],
    [623, "headerForEntity"],
    [624, "headerSuspended"],
    [625, "headerSuspended"],
    [630, "template"],
    [631, "template"],
    [632, "template"],
    [633, "templateMismatch"],
    [634, "headerForTemplate"],
    [635, "variableTooLong"],
    [636, "templateMismatch"],
    [637, "template"],
    [650, "preference"],
    [660, "consent"],
    [670, "scrubbing"],
  ];

  it.each(codes)("names code %i as %s, alone or inside a sentence", (code, key) => {
    expect(dltProblem(String(code))).toBe(P[key]);
    expect(dltProblem(`Rejected: ${code}`)).toBe(P[key]);
    expect(dltProblem(`ERR-${code} something`)).toBe(P[key]);
  });

  it("names no problem for codes outside the table", () => {
    for (const code of ["606", "609", "619", "626", "638", "640", "651", "661", "671", "699", "599", "700"]) {
      expect(dltProblem(code)).toBeNull();
    }
  });

  it("does not read a code out of a longer number, a decimal or a phone number", () => {
    expect(dltProblem("9876330123")).toBeNull();
    expect(dltProblem("6330")).toBeNull();
    expect(dltProblem("credit 0.633")).toBeNull();
    expect(dltProblem("633.5")).toBeNull();
  });

  it("lets the code win over words that say something else", () => {
    expect(dltProblem("633 HEADER-NOT-REGISTERED")).toBe(P.templateMismatch);
  });
});

describe("dltProblem: code names and status texts", () => {
  const texts: [string, DltProblemKey][] = [
    // Code names
    ["ENTITY_NOT_FOUND", "entity"],
    ["ENTITY_NOT_REGISTERED", "entity"],
    ["ENTITY_INACTIVE", "entity"],
    ["ENTITY_BLACKLISTED", "entity"],
    ["INVALID_ENTITY_ID", "entity"],
    ["ENTITY_ID_NOT_ALLOWED_FOR_TM", "telemarketerForEntity"],
    ["TELEMARKETER_NOT_REGISTERED", "telemarketer"],
    ["TELEMARKETER_INACTIVE", "telemarketer"],
    ["TELEMARKETER_BLACKLISTED", "telemarketer"],
    ["TELEMARKETER_NOT_ALLOWED_FOR_ENTITY", "telemarketerForEntity"],
    ["PE_TM_HASH_NOT_RECEIVED", "chain"],
    ["PE_TM_HASH_NOT_REGISTERED", "chain"],
    ["PE_TM_HASH_INACTIVE", "chain"],
    ["PE_TM_HASH_BLACKLISTED", "chain"],
    ["PE_TM_HASH_SUSPENDED", "chain"],
    ["HEADER_NOT_FOUND", "header"],
    ["HEADER_INACTIVE", "header"],
    ["HEADER_BLACKLISTED", "header"],
    ["PEID_NOT_MATCHED_WITH_HEADER", "headerForEntity"],
    ["HEADER_SUSPENDED_DUE_TO_VALIDITY", "headerSuspended"],
    ["HEADER_SUSPENDED_DUE_TO_USAGE", "headerSuspended"],
    ["TEMPLATE_NOT_FOUND", "template"],
    ["TEMPLATE_INACTIVE", "template"],
    ["TEMPLATE_BLACKLISTED", "template"],
    ["TEMPLATE_NOT_MATCHED", "templateMismatch"],
    ["HEADER_NOT_REGISTERED_FOR_TEMPLATE", "headerForTemplate"],
    ["TEMPLATE_VARIABLE_EXCEEDED_MAX_LENGTH", "variableTooLong"],
    ["ERROR_IDENTIFYING_TEMPLATE", "templateMismatch"],
    ["INVALID_TEMPLATE_ID", "template"],
    ["PREFERENCE_NOT_MATCHED", "preference"],
    ["CONSENT_FAILED", "consent"],
    ["SCRUBBING_FAILED", "scrubbing"],
    // Aggregator status texts
    ["HEADER-NOT-REGISTERED", "header"],
    ["SENDER NOT MATCHED", "headerForEntity"],
    ["INVALID TEMPLATE", "template"],
    ["TEMPLATE-NOT-MATCHED", "templateMismatch"],
    ["TEMPLATE-INACTIVE", "template"],
    ["TEMPLATE-BLACKLISTED", "template"],
    ["TEMPLATE-VARIABLE-EXCEEDED-MAX LENGTH", "variableTooLong"],
    ["SNDR-NT-REG", "header"],
    ["SNDR-INACTVE", "header"],
    ["NDNC REJECTED", "preference"],
    // Gateway texts
    ["SMS not Matched with DLT Template", "templateMismatch"],
    ["DLT-CNT-REJECT", "templateMismatch"],
    ["NDNC", "preference"],
    ["Number is in DND", "preference"],
  ];

  it.each(texts)("names %j as %s", (reason, key) => {
    expect(dltProblem(reason)).toBe(P[key]);
  });

  it("matches in any case and with any separator", () => {
    expect(dltProblem("template not matched")).toBe(P.templateMismatch);
    expect(dltProblem("Template_Not-Matched")).toBe(P.templateMismatch);
    expect(dltProblem("  header   not\tregistered ")).toBe(P.header);
  });

  it("names no DLT problem for failures that are not DLT's", () => {
    for (const reason of [
      "ABSENT-SUB",
      "INVALID-SUB",
      "EXPIRED",
      "REJECTED-MULTIPART",
      "BLACKLIST",
      "blocked number",
      "rejected",
      "failed",
      "DELIVERED (USR_BUSY)",
      "",
      undefined,
    ]) {
      expect(dltProblem(reason)).toBeNull();
    }
  });

  it("names each problem in the service's words, never echoing the reason", () => {
    const reason = "TEMPLATE_NOT_MATCHED secret-looking-vendor-text-123";
    expect(dltProblem(reason)).not.toContain("secret-looking");
    for (const text of Object.values(P)) expect(text).toMatch(/^DLT: /);
  });
});

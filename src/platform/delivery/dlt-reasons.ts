/**
 * India's DLT (TRAI) scrubbing checks every SMS against the registered
 * principal entity (PE), telemarketer (TM), PE→TM chain, header (sender id),
 * template, consent and preference. A failure comes back in the delivery
 * report, not from the send call, as a DLT platform code (6xx) or one of a
 * few status texts. dltProblem names the problem in the service's words, so
 * an operator sees what to fix and the vendor's text need not be logged.
 */

/** The problems, one sentence each, stable so callers may compare or count them. */
export const DLT_PROBLEMS = {
  entity: "DLT: the principal entity (PE ID) is not registered, not active or blacklisted",
  telemarketer: "DLT: the telemarketer is not registered, not active or blacklisted",
  telemarketerForEntity: "DLT: the telemarketer is not allowed to send for this principal entity",
  chain: "DLT: the PE-TM chain is missing, not registered, not active or suspended",
  header: "DLT: the header (sender id) is not registered, not active or blacklisted",
  headerForEntity: "DLT: the header (sender id) is not registered to this principal entity",
  headerSuspended: "DLT: the header (sender id) is suspended (validity or usage)",
  template: "DLT: the template is not registered, not active, blacklisted or its id is invalid",
  templateMismatch: "DLT: the message does not match the registered template",
  headerForTemplate: "DLT: the header (sender id) is not registered for this template",
  variableTooLong: "DLT: a template variable is longer than allowed",
  preference: "DLT: the number is on the DND (NCPR) preference list",
  consent: "DLT: the consent check failed",
  scrubbing: "DLT: scrubbing failed",
} as const;

export type DltProblemKey = keyof typeof DLT_PROBLEMS;

/** DLT platform codes, as aggregators publish them (no primary TRAI table). */
const CODES: [from: number, to: number, problem: DltProblemKey][] = [
  [600, 604, "entity"],
  [605, 605, "telemarketerForEntity"],
  [610, 612, "telemarketer"],
  [613, 613, "telemarketerForEntity"],
  [614, 618, "chain"],
  [620, 622, "header"],
  [623, 623, "headerForEntity"],
  [624, 625, "headerSuspended"],
  [630, 632, "template"],
  [633, 633, "templateMismatch"],
  [634, 634, "headerForTemplate"],
  [635, 635, "variableTooLong"],
  [636, 636, "templateMismatch"],
  [637, 637, "template"],
  [650, 650, "preference"],
  [660, 660, "consent"],
  [670, 670, "scrubbing"],
];

/**
 * Status texts and code names, matched after upper-casing and turning `-`, `_`
 * and runs of spaces into one space; the first match wins, so the specific
 * ones come before those they contain.
 */
const TEXTS: [RegExp, DltProblemKey][] = [
  [/\bHEADER NOT REGISTERED FOR TEMPLATE\b/, "headerForTemplate"],
  [/\bTEMPLATE VARIABLE EXCEEDED\b/, "variableTooLong"],
  [
    /\bTEMPLATE NOT MATCHED\b|\bNOT MATCHED WITH (THE )?DLT TEMPLATE\b|\bDLT CNT REJECT\b|\bERROR IDENTIFYING TEMPLATE\b/,
    "templateMismatch",
  ],
  [/\bTEMPLATE (NOT FOUND|INACTIVE|BLACKLISTED)\b|\bINVALID TEMPLATE\b/, "template"],
  [/\bPEID NOT MATCHED WITH HEADER\b|\bSENDER (ID )?NOT MATCHED\b/, "headerForEntity"],
  [/\bHEADER SUSPENDED\b/, "headerSuspended"],
  [
    /\bHEADER (NOT FOUND|NOT REGISTERED|INACTIVE|BLACKLISTED)\b|\bSNDR NT REG\b|\bSNDR INACTI?VE\b|\bSENDER (ID )?NOT REGISTERED\b/,
    "header",
  ],
  [/\bPE TM HASH\b|\bPE ?TM CHAIN\b/, "chain"],
  [/\bENTITY ID NOT ALLOWED FOR TM\b|\bTELEMARKETER NOT ALLOWED FOR ENTITY\b/, "telemarketerForEntity"],
  [/\bTELEMARKETER (NOT REGISTERED|INACTIVE|BLACKLISTED)\b/, "telemarketer"],
  [/\bENTITY (NOT FOUND|NOT REGISTERED|INACTIVE|BLACKLISTED)\b|\bINVALID ENTITY ID\b/, "entity"],
  [/\bPREFERENCE NOT MATCHED\b|\bN?DNC\b|\bDND\b|\bNCPR\b/, "preference"],
  [/\bCONSENT FAILED\b/, "consent"],
  [/\bSCRUBBING FAILED\b/, "scrubbing"],
];

/**
 * The DLT problem a delivery report's failure reason names, or null when it
 * names none (an absent or invalid subscriber, an expired message, a blocked
 * number, or text this does not know). A listed DLT code anywhere in the
 * reason, as a number of its own, wins over the words.
 */
export function dltProblem(reason: string | undefined): string | null {
  if (typeof reason !== "string" || reason === "") return null;
  const key = byCode(reason) ?? byText(reason);
  return key === undefined ? null : DLT_PROBLEMS[key];
}

function byCode(reason: string): DltProblemKey | undefined {
  for (const [, digits] of reason.matchAll(/(?<![\d.])(6\d\d)(?![\d.])/g)) {
    const code = Number(digits);
    const found = CODES.find(([from, to]) => code >= from && code <= to);
    if (found) return found[2];
  }
  return undefined;
}

function byText(reason: string): DltProblemKey | undefined {
  const words = reason.toUpperCase().replace(/[-_\s]+/g, " ");
  return TEXTS.find(([pattern]) => pattern.test(words))?.[1];
}

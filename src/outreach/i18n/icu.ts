/**
 * A small subset of ICU MessageFormat, enough for mail texts in languages with several plural
 * forms (Polish and Russian have one/few/many) without a dependency:
 *
 *   {name}                                     a parameter (numbers through Intl.NumberFormat)
 *   {n, plural, one {# day} few {# dni} other {# days}}   plural categories of Intl.PluralRules, or =N
 *   {what, select, nps {NPS} other {survey}}   a choice by a string parameter
 *
 * `#` inside a plural branch is the plural's number. There is no quoting: catalogues never need a
 * literal brace. The same parsed form serves three purposes: formatting, listing a message's
 * placeholders (the catalogue test compares them across locales), and turning an English template
 * into a regular expression that reads the numbers back out of a sentence (reasons stored as text).
 */

export type Part =
  | { kind: "text"; text: string }
  | { kind: "arg"; name: string }
  | { kind: "hash" }
  | { kind: "plural"; name: string; branches: Map<string, Part[]> }
  | { kind: "select"; name: string; branches: Map<string, Part[]> };

export type Params = Readonly<Record<string, string | number>>;

export class MessageSyntaxError extends Error {
  constructor(message: string, public readonly template: string) {
    super(`${message} in message "${template}"`);
    this.name = "MessageSyntaxError";
  }
}

const cache = new Map<string, Part[]>();

export function parseMessage(template: string): Part[] {
  let parts = cache.get(template);
  if (parts === undefined) {
    const p = new Parser(template);
    parts = p.message(false);
    if (p.pos < template.length) throw new MessageSyntaxError(`unexpected "}" at ${p.pos}`, template);
    cache.set(template, parts);
  }
  return parts;
}

class Parser {
  pos = 0;
  constructor(private readonly s: string) {}

  message(inPlural: boolean): Part[] {
    const out: Part[] = [];
    let text = "";
    const flush = () => {
      if (text) out.push({ kind: "text", text });
      text = "";
    };
    while (this.pos < this.s.length) {
      const ch = this.s[this.pos]!;
      if (ch === "}") break;
      if (ch === "{") {
        flush();
        out.push(this.argument());
      } else if (ch === "#" && inPlural) {
        flush();
        out.push({ kind: "hash" });
        this.pos++;
      } else {
        text += ch;
        this.pos++;
      }
    }
    flush();
    return out;
  }

  private argument(): Part {
    this.pos++; // {
    const name = this.word();
    this.space();
    if (this.s[this.pos] === "}") {
      this.pos++;
      return { kind: "arg", name };
    }
    this.expect(",");
    this.space();
    const type = this.word();
    if (type !== "plural" && type !== "select") throw new MessageSyntaxError(`unknown argument type "${type}"`, this.s);
    this.space();
    this.expect(",");
    const branches = new Map<string, Part[]>();
    for (;;) {
      this.space();
      if (this.s[this.pos] === "}") break;
      const selector = this.s[this.pos] === "=" ? `=${(this.pos++, this.word())}` : this.word();
      this.space();
      this.expect("{");
      branches.set(selector, this.message(type === "plural"));
      this.expect("}");
    }
    this.pos++; // }
    if (!branches.has("other")) throw new MessageSyntaxError(`${type} "${name}" has no "other" branch`, this.s);
    return { kind: type, name, branches };
  }

  private word(): string {
    const m = /^[A-Za-z0-9_]+/.exec(this.s.slice(this.pos));
    if (!m) throw new MessageSyntaxError(`expected a name at ${this.pos}`, this.s);
    this.pos += m[0].length;
    return m[0];
  }

  private space(): void {
    while (this.s[this.pos] === " ") this.pos++;
  }

  private expect(ch: string): void {
    if (this.s[this.pos] !== ch) throw new MessageSyntaxError(`expected "${ch}" at ${this.pos}`, this.s);
    this.pos++;
  }
}

/** Names of every parameter a message uses (nested ones included). */
export function placeholders(template: string): Set<string> {
  const names = new Set<string>();
  const walk = (parts: Part[]) => {
    for (const p of parts) {
      if (p.kind === "arg") names.add(p.name);
      else if (p.kind === "plural" || p.kind === "select") {
        names.add(p.name);
        for (const b of p.branches.values()) walk(b);
      }
    }
  };
  walk(parseMessage(template));
  return names;
}

/** Every plural argument with the categories it offers, for the completeness test. */
export function pluralBranches(template: string): { name: string; categories: string[] }[] {
  const out: { name: string; categories: string[] }[] = [];
  const walk = (parts: Part[]) => {
    for (const p of parts) {
      if (p.kind === "plural" || p.kind === "select") {
        if (p.kind === "plural") out.push({ name: p.name, categories: [...p.branches.keys()] });
        for (const b of p.branches.values()) walk(b);
      }
    }
  };
  walk(parseMessage(template));
  return out;
}

const pluralRules = new Map<string, Intl.PluralRules>();
const numberFormats = new Map<string, Intl.NumberFormat>();

function rulesFor(locale: string): Intl.PluralRules {
  let r = pluralRules.get(locale);
  if (r === undefined) pluralRules.set(locale, (r = new Intl.PluralRules(locale)));
  return r;
}

function numberFormat(locale: string): Intl.NumberFormat {
  let f = numberFormats.get(locale);
  if (f === undefined) numberFormats.set(locale, (f = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 })));
  return f;
}

/**
 * Formats a message. A missing parameter throws: it is a programming error, and the catalogue
 * tests render every message, so it cannot reach a mail.
 */
export function formatMessage(locale: string, template: string, params: Params = {}): string {
  const value = (name: string): string | number => {
    const v = params[name];
    if (v === undefined) throw new Error(`message parameter "${name}" is missing for "${template}"`);
    return v;
  };
  const render = (parts: Part[], hash: number | null): string => {
    let out = "";
    for (const p of parts) {
      switch (p.kind) {
        case "text":
          out += p.text;
          break;
        case "hash":
          out += hash === null ? "#" : numberFormat(locale).format(hash);
          break;
        case "arg": {
          const v = value(p.name);
          out += typeof v === "number" ? numberFormat(locale).format(v) : v;
          break;
        }
        case "plural": {
          const v = Number(value(p.name));
          const branch = p.branches.get(`=${v}`) ?? p.branches.get(rulesFor(locale).select(v)) ?? p.branches.get("other")!;
          out += render(branch, v);
          break;
        }
        case "select": {
          const v = String(value(p.name));
          out += render(p.branches.get(v) ?? p.branches.get("other")!, hash);
          break;
        }
      }
    }
    return out;
  };
  return render(parseMessage(template), null);
}

/** A template compiled into a matcher that reads its parameters back out of a formatted sentence. */
export interface MessageMatcher {
  match(text: string): Record<string, string | number> | null;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * Compiles an English template into an anchored regular expression. Numbers are read as plain
 * digits (the English texts of scoring are written without grouping); a select records which
 * branch matched.
 */
export function compileMatcher(template: string): MessageMatcher {
  type Slot = { name: string; kind: "number" } | { name: string; kind: "select"; value: string };
  const slots: Slot[] = [];
  const group = (slot: Slot, inner: string) => {
    slots.push(slot);
    return `(?<g${slots.length - 1}>${inner})`;
  };
  const NUM = "-?\\d+(?:\\.\\d+)?";
  const build = (parts: Part[], pluralName: string | null): string =>
    parts
      .map((p) => {
        switch (p.kind) {
          case "text":
            return escapeRegExp(p.text);
          case "hash":
            return pluralName === null ? "#" : group({ name: pluralName, kind: "number" }, NUM);
          case "arg":
            return group({ name: p.name, kind: "number" }, NUM);
          case "plural":
            return `(?:${[...p.branches.values()].map((b) => build(b, p.name)).join("|")})`;
          case "select":
            return `(?:${[...p.branches.entries()]
              .filter(([k]) => k !== "other")
              .map(([k, b]) => group({ name: p.name, kind: "select", value: k }, build(b, pluralName)))
              .join("|")})`;
        }
      })
      .join("");
  const re = new RegExp(`^${build(parseMessage(template), null)}$`);
  return {
    match(text) {
      const m = re.exec(text);
      if (!m?.groups) return m ? {} : null;
      const out: Record<string, string | number> = {};
      slots.forEach((slot, i) => {
        const g = m.groups![`g${i}`];
        if (g === undefined) return;
        if (slot.kind === "number") out[slot.name] = Number(g);
        else out[slot.name] = slot.value;
      });
      return out;
    },
  };
}

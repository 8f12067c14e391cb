/**
 * Fake but plausible customer identities. Small built-in lists keep the package free of faker-style
 * dependencies; e-mail addresses use the reserved example.com / example.org domains (RFC 2606) so a
 * demo that mails customers can never reach a real inbox.
 */
import type { Rng } from "./random.js";

interface LocaleNames {
  locale: string;
  first: readonly string[];
  last: readonly string[];
}

const LOCALES: readonly LocaleNames[] = [
  {
    locale: "de-DE",
    first: ["Anna", "Lukas", "Marie", "Jonas", "Sophie", "Felix", "Lena", "Paul", "Hannah", "Maximilian", "Emilia", "Jürgen"],
    last: ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Hoffmann", "Schäfer", "Koch", "Groß"],
  },
  {
    locale: "fr-FR",
    first: ["Camille", "Louis", "Léa", "Hugo", "Chloé", "Gabriel", "Manon", "Arthur", "Inès", "Jules", "Sarah", "Lucas"],
    last: ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau", "Lefèvre", "Girard"],
  },
  {
    locale: "en-GB",
    first: ["Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Noah", "Mia", "Jack", "Grace", "Charlie", "Freya"],
    last: ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Davies", "Thomas", "Roberts", "O'Brien", "Walker"],
  },
  {
    locale: "es-ES",
    first: ["Lucía", "Hugo", "Martina", "Mateo", "Sofía", "Leo", "María", "Daniel", "Julia", "Pablo", "Paula", "Álvaro"],
    last: ["García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez", "Pérez", "Gómez", "Martín", "Jiménez", "Ruiz"],
  },
  {
    locale: "it-IT",
    first: ["Giulia", "Leonardo", "Sofia", "Francesco", "Aurora", "Alessandro", "Ginevra", "Lorenzo", "Beatrice", "Mattia", "Alice", "Tommaso"],
    last: ["Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco", "Bruno", "Gallo"],
  },
  {
    locale: "nl-NL",
    first: ["Emma", "Daan", "Julia", "Sem", "Tess", "Lucas", "Sophie", "Finn", "Zoë", "Milan", "Mila", "Levi"],
    last: ["de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen", "Visser", "Smit", "Meijer", "de Boer", "Mulder"],
  },
  {
    locale: "pl-PL",
    first: ["Zofia", "Jan", "Hanna", "Antoni", "Maja", "Franciszek", "Julia", "Jakub", "Lena", "Aleksander", "Alicja", "Szymon"],
    last: ["Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński", "Lewandowski", "Zieliński", "Szymański", "Woźniak", "Dąbrowski", "Łukasik"],
  },
  {
    locale: "sv-SE",
    first: ["Alice", "William", "Maja", "Hugo", "Elsa", "Liam", "Astrid", "Noah", "Wilma", "Oscar", "Ebba", "Åsa"],
    last: ["Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson", "Svensson", "Gustafsson", "Pettersson", "Jönsson"],
  },
];

const US: LocaleNames = {
  locale: "en-US",
  first: ["James", "Emma", "Liam", "Olivia", "Ethan", "Ava", "Mason", "Sophia", "Logan", "Isabella", "Lucas", "Mia"],
  last: ["Johnson", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Anderson", "Jackson", "Lee", "Harris", "Clark", "Lewis"],
};

// Rough shares of a European shop's customer base; the exact numbers only shape demo digests.
const LOCALE_WEIGHTS = [25, 18, 15, 12, 10, 8, 6, 6];

export interface Identity {
  first: string;
  last: string;
  name: string;
  email: string;
  locale: string;
}

/** Lower-case ASCII for the local part of an address: "Łukasik" -> "lukasik", "O'Brien" -> "obrien". */
export function asciiFold(s: string): string {
  return s
    .replace(/ł/g, "l")
    .replace(/Ł/g, "L")
    .replace(/ß/g, "ss")
    .normalize("NFD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .replace(/[^a-z0-9]/g, "");
}

/**
 * `number` (the customer's sequence number) goes into the address so that two customers with the
 * same name never share an e-mail, which would merge them in any CRM keyed by address.
 */
export function makeIdentity(rng: Rng, number: number, foreignLocale: boolean): Identity {
  const names = foreignLocale ? US : (LOCALES[rng.weightedIndex(LOCALE_WEIGHTS)] ?? US);
  const first = rng.pick(names.first);
  const last = rng.pick(names.last);
  const domain = rng.chance(0.7) ? "example.com" : "example.org";
  const f = asciiFold(first);
  const l = asciiFold(last);
  const local = rng.chance(0.6) ? `${f}.${l}.${number}` : `${f.slice(0, 1)}${l}${number}`;
  return { first, last, name: `${first} ${last}`, email: `${local}@${domain}`, locale: names.locale };
}

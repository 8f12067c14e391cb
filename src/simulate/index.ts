/** Synthetic, seeded churnwatch events with ground truth: for demos, tests, load and training. */
export { simulate, simulateStream, simulateCustomers, type SimulationResult, type StreamOptions } from "./generate.js";
export { makeContext, customerIdOf, DAY_MS, type SimulateOptions, type ForeignCurrency, type Instant } from "./options.js";
export { churnRateOverHorizon, truthToJson, type ChurnDriver, type CustomerTruth, type GroundTruth, type HorizonChurn, type TruthRecordJson } from "./truth.js";
export { PERSONAS, PERSONA_NAMES, type Persona, type PersonaName } from "./personas.js";
export { Rng } from "./random.js";

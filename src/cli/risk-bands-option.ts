/** The risk bands a command reads: --risk-bands, else RISK_BANDS, else the defaults. */
import { DEFAULT_RISK_BANDS, parseRiskBands, type RiskBands } from "../model/risk-levels.js";
import { CliError } from "./args.js";

export function riskBandsOption(value: string | undefined): RiskBands {
  const text = value ?? process.env.RISK_BANDS;
  if (text === undefined || text.trim() === "") return { ...DEFAULT_RISK_BANDS };
  try {
    return parseRiskBands(text);
  } catch (err) {
    throw new CliError(`${value !== undefined ? "--risk-bands" : "RISK_BANDS"}: ${(err as Error).message}`);
  }
}

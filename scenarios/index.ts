import { scenario as control5000Items } from './library/control-5000-items.js';
import { scenario as controlNewSkus } from './library/control-new-skus.js';
import { scenario as controlOptionalField } from './library/control-optional-field.js';
import { scenario as controlPriceAndStock } from './library/control-price-and-stock.js';
import { scenario as currencyDroppedByRelease } from './library/currency-dropped-by-release.js';
import { scenario as priceAsString } from './library/price-as-string.js';
import { scenario as priceMovedToPricing } from './library/price-moved-to-pricing.js';
import { scenario as renameAndRetypeInOnePush } from './library/rename-and-retype-in-one-push.js';
import { scenario as returnPolicyExchangeOnly } from './library/return-policy-exchange-only.js';
import { scenario as returnPolicyStoreCredit } from './library/return-policy-store-credit.js';
import { scenario as returnPolicySync } from './library/return-policy-sync.js';
import { scenario as shopApiDown } from './library/shop-api-down.js';
import { scenario as stockAsString } from './library/stock-as-string.js';
import { scenario as stockMovedToInventory } from './library/stock-moved-to-inventory.js';
import { scenario as stockRenamedToQuantity } from './library/stock-renamed-to-quantity.js';
import { scenario as titleRenamedToName } from './library/title-renamed-to-name.js';
import type { Scenario } from './types.js';

/** The fault library, in the order the harness runs it: the flagship first, controls last. */
export const SCENARIO_LIBRARY: readonly Scenario[] = [
  returnPolicySync,
  currencyDroppedByRelease,
  titleRenamedToName,
  stockRenamedToQuantity,
  priceMovedToPricing,
  stockMovedToInventory,
  stockAsString,
  priceAsString,
  returnPolicyStoreCredit,
  returnPolicyExchangeOnly,
  shopApiDown,
  renameAndRetypeInOnePush,
  controlPriceAndStock,
  controlNewSkus,
  controlOptionalField,
  control5000Items,
];

/** The scenario with this id, if the library has it. */
export const findScenario = (id: string): Scenario | undefined =>
  SCENARIO_LIBRARY.find((scenario) => scenario.id === id);

/** What the dashboard lists of a scenario: never its scoring half. */
export const scenarioListing = (scenario: Scenario) => ({
  id: scenario.id,
  name: scenario.name,
  description: scenario.description,
  fault_class: scenario.class,
  expected: scenario.expected,
  injects: [
    ...(scenario.release ? [`release ${scenario.release}`] : []),
    ...(scenario.dependency ? ['shop API down'] : []),
    `${scenario.pushes().length} push(es)`,
  ],
});

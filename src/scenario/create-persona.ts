/** A persona instance from its loaded config (a served persona or a scenario party's block). */
import { Carrier } from '../roles/carrier.js';
import { Pbx } from '../roles/pbx.js';
import type { PersonaConfig } from './persona-config.js';
import type { Persona } from '../roles/persona.js';
import { Phone } from '../roles/phone.js';

export function createPersona(config: PersonaConfig): Persona {
  switch (config.kind) {
    case 'carrier':
      return new Carrier(config.options);
    case 'pbx':
      return new Pbx(config.options);
    case 'phone':
      return new Phone(config.options);
  }
}

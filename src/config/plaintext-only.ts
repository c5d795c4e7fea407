/**
 * The broker serves one PLAINTEXT listener (plus an alias named in controller.listener.names):
 * no TLS, no SASL. Settings that ask for more are refused wherever they are given — at start-up
 * (file, environment, flags) and through AlterConfigs / IncrementalAlterConfigs — rather than
 * stored and silently ignored. This module is the one list of those refusals.
 */
import { brokerConfigDef } from './broker-configs.js';

/** The name of the listener the broker serves. */
export const LISTENER_NAME = 'PLAINTEXT';

/**
 * Why `value` for the broker setting `name` asks for something the broker cannot honour yet,
 * as a message naming the setting, or null. Covers every setting the catalogue marks as not
 * supported (ssl.*, sasl.*, principal.builder.class, max.connection.creation.rate), a protocol
 * map giving the PLAINTEXT listener another protocol, and a broker-to-broker listener other
 * than PLAINTEXT.
 */
export function unsupportedSettingMessage(name: string, value: string): string | null {
  const def = brokerConfigDef(name);
  if (def !== undefined && def.notSupported !== null) return `${name} is not supported yet: ${def.notSupported}.`;
  if (name === 'listener.security.protocol.map') {
    for (const entry of value.split(',')) {
      const [listener, protocol] = entry.split(':').map((x) => x.trim());
      if (listener === LISTENER_NAME && protocol !== 'PLAINTEXT') {
        return `${name}: ${LISTENER_NAME}:${protocol} is not supported yet: the broker serves PLAINTEXT only (no TLS or SASL)`;
      }
    }
  }
  if (name === 'inter.broker.listener.name' && value.trim() !== LISTENER_NAME) {
    return `${name}: ${value.trim()} is not supported yet: brokers talk over the ${LISTENER_NAME} listener`;
  }
  return null;
}

/**
 * The listener names in a `listeners` / `advertised.listeners` value other than PLAINTEXT and
 * those in controller.listener.names (which are served the same way): each would need its own
 * protocol, which the broker does not have.
 */
export function unsupportedListenerNames(text: string, controllerNames: readonly string[]): string[] {
  const names = text
    .split(',')
    .map((e) => /^\s*([A-Za-z0-9_]+):\/\//.exec(e)?.[1])
    .filter((n): n is string => n !== undefined);
  return names.filter((n) => n !== LISTENER_NAME && !controllerNames.includes(n));
}

/** The start-up message for `unsupportedListenerNames`, naming the setting and the listeners. */
export function unsupportedListenersMessage(key: string, names: readonly string[]): string {
  return `${key}: ${names.join(', ')}: only the ${LISTENER_NAME} listener (and one named in controller.listener.names) is supported yet (the metadata quorum, brokers and clients share it)`;
}

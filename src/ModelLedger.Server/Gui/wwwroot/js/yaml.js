// Training configs as YAML text: flat `key: value` lines, a string quoted (JSON quoting is valid YAML) only when
// plain YAML would read it as something else.
const PLAIN = /^[A-Za-z0-9_./@+-][A-Za-z0-9_ ./@+,-]*$/;
const RESERVED = /^(true|false|yes|no|on|off|null|~|[-+]?[0-9.]+(e[-+]?[0-9]+)?)$/i;

export function yamlValue(type, text) {
  if (type === 'int' || type === 'float' || type === 'bool') return text;
  return PLAIN.test(text) && !RESERVED.test(text) && text.trim() === text ? text : JSON.stringify(text);
}

export const toYaml = entries => entries.map(([k, type, v]) => `${k}: ${yamlValue(type, v)}`).join('\n') + '\n';

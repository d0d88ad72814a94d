/**
 * Policy files: the `policy:` block of a daemon config, or a file holding just that block
 * (with or without the top-level `policy:` key). Errors name file, line and column.
 */
import { readYamlConfig } from '../config/yaml-file.js';
import { type Policy, PolicyConfig } from './schema.js';

export function readPolicy(file: string): Policy {
  return readYamlConfig(file, PolicyConfig, { optionalRoot: 'policy' });
}

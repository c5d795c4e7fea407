#!/usr/bin/env node
// Writes docs/configuration.md from the configuration catalogue (the text `jocko broker
// --help-config` prints). Run after a build: npm run docs.
import { mkdirSync, writeFileSync } from 'node:fs';
import { renderConfigReference } from '../dist/src/config/docs.js';

mkdirSync('docs', { recursive: true });
writeFileSync('docs/configuration.md', renderConfigReference());
console.log('wrote docs/configuration.md');

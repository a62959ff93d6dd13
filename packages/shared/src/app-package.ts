import { Type } from 'typebox';

/**
 * An Android application id: at least two dot-separated segments, each starting with a letter,
 * then letters, digits or underscores (the rule `applicationId` follows in Gradle).
 */
export const APP_PACKAGE_PATTERN = '^[A-Za-z][A-Za-z0-9_]*(\\.[A-Za-z][A-Za-z0-9_]*)+$';

export const AppPackageSchema = Type.String({
  pattern: APP_PACKAGE_PATTERN,
  maxLength: 255,
  description: 'Android application id',
  examples: ['com.yelp.android'],
});

/** Jest for the panel's pure logic (verdict, model); see src/__tests__. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/src'],
  testMatch: ['**/__tests__/**/*.spec.ts'],
  transform: {
    '^.+\\.tsx?$': [
      'ts-jest',
      {
        tsconfig: {
          module: 'commonjs',
          target: 'ES2020',
          jsx: 'react',
          esModuleInterop: true,
          strict: true,
          skipLibCheck: true,
          types: ['jest']
        }
      }
    ]
  }
};

// Every service a test starts, in this process or as a child inheriting its environment, would
// otherwise check its images' urls against Docker Hub: nothing here may leave the machine. The
// registry tests turn checks on explicitly, against registries of their own on loopback.
process.env.REGISTRY_CHECKS = 'off';

// Every SQL text the statement cache hands out is checked against the one TypeORM renders
// (src/db/statement-cache.ts), in this process and in services started as children.
process.env.IMAGE_CATALOG_VERIFY_STATEMENT_CACHE = 'true';

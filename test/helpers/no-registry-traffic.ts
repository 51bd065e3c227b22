// Every service a test starts, in this process or as a child inheriting its environment, would
// otherwise check its images' urls against Docker Hub: nothing here may leave the machine. The
// registry tests turn checks on explicitly, against registries of their own on loopback.
process.env.REGISTRY_CHECKS = 'off';

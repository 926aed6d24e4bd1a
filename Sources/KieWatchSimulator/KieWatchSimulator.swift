// The KieWatchSimulator module; its pieces land with their issues.

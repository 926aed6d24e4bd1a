// The KieWatchAgent module; its pieces land with their issues.

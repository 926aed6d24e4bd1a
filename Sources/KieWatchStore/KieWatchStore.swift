// The KieWatchStore module; its pieces land with their issues.

// The KieWatchConsole module; its pieces land with their issues.

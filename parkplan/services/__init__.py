"""The only room that combines store, siting and tracker: planning, imports, demo, and the data maps and reports take."""

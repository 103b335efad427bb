from tc_calendar.cli import main

raise SystemExit(main())

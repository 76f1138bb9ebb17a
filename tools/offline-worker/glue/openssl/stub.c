/* Empty: the real library is the shared system one. */
